# Times lme4's glmer() on one CSV; prints one JSON line.
# Usage: Rscript lme4_glmer_bench.R DATA.csv "FORMULA" FAMILY NAGQ FACTORS(comma list or -) REPS
# Only the glmer() call is timed (not reading the file); median over REPS runs.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
a <- commandArgs(TRUE)
df <- read.csv(a[1])
if (a[5] != "-") for (f in strsplit(a[5], ",")[[1]]) df[[f]] <- factor(as.character(df[[f]]))
form <- as.formula(a[2]); fam <- get(a[3])(); nagq <- as.integer(a[4]); reps <- as.integer(a[6])
secs <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- glmer(form, df, family = fam, nAGQ = nagq)
  secs[i] <- proc.time()[["elapsed"]] - t0
}
res <- list(
  seconds = median(secs), seconds_all = secs,
  objective = -2 * as.numeric(logLik(fit)), n_obs = nobs(fit),
  fixef = as.list(fixef(fit)),
  version = paste0("lme4 ", packageVersion("lme4"), ", ", R.version.string)
)
cat(toJSON(res, auto_unbox = TRUE, digits = NA), "\n")
