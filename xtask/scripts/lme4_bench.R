# Times lme4's lmer() on one CSV; prints one JSON line.
# Usage: Rscript lme4_bench.R DATA.csv "FORMULA" REML(1|0) FACTORS(comma list or -) REPS
# Only the lmer() call is timed (not reading the file); median over REPS runs.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
a <- commandArgs(TRUE)
df <- read.csv(a[1])
if (a[4] != "-") for (f in strsplit(a[4], ",")[[1]]) df[[f]] <- factor(as.character(df[[f]]))
form <- as.formula(a[2]); reml <- a[3] == "1"; reps <- as.integer(a[5])
ctrl <- lmerControl(calc.derivs = FALSE)
secs <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- lmer(form, df, REML = reml, control = ctrl)
  secs[i] <- proc.time()[["elapsed"]] - t0
}
res <- list(
  seconds = median(secs), seconds_all = secs,
  objective = if (reml) REMLcrit(fit) else deviance(fit),
  evaluations = fit@optinfo$feval, n_obs = nobs(fit),
  fixef = as.list(fixef(fit)), theta = unname(getME(fit, "theta")),
  converged = length(fit@optinfo$conv$lme4$messages) == 0,
  version = paste0("lme4 ", packageVersion("lme4"), ", ", R.version.string)
)
cat(toJSON(res, auto_unbox = TRUE, digits = NA), "\n")
