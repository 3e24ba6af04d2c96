"""Write the reader test files: one small table as pyarrow, pandas and polars write it, with
every compression codec they offer for Parquet and Arrow IPC (Feather v2), and CSV files
with infinities and NaN as pandas and polars write them.

Run from this directory: `python3 generate.py` (pyarrow, pandas and polars installed; the
files committed here were written by pyarrow 26.0.1, pandas 3.1.1, polars 2.1.0). The tests
in crates/mixedlm-design/tests/integration/readers.rs read every file and compare it with
the table below.
"""
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

ROWS = 12
table = pa.table({
    "y": pa.array([1.5 * i - 3.25 for i in range(ROWS)], pa.float64()),
    "x": pa.array(list(range(ROWS)), pa.int64()),
    "g": pa.array([f"g{i % 3}" for i in range(ROWS)], pa.string()),
    "id": pa.array([9007199254740993 + i for i in range(ROWS)], pa.int64()),
    "flag": pa.array([i % 2 == 0 for i in range(ROWS)], pa.bool_()),
})
frame = table.to_pandas()
frame["g"] = frame["g"].astype("category")
polars_frame = pl.from_arrow(table)

# pyarrow: every Parquet codec, and IPC file and stream with and without compression.
for codec in ["none", "snappy", "gzip", "brotli", "lz4", "zstd"]:
    pq.write_table(table, f"pyarrow_{codec}.parquet", compression=codec)
for codec in ["uncompressed", "lz4", "zstd"]:
    feather.write_feather(table, f"pyarrow_{codec}.feather", compression=codec)
with ipc.new_stream("pyarrow_zstd_stream.arrows", table.schema,
                    options=ipc.IpcWriteOptions(compression="zstd")) as w:
    w.write_table(table)

# pandas: its defaults (Parquet snappy, Feather lz4) and the other codecs it passes on.
frame.to_parquet("pandas_default.parquet")
for codec in ["gzip", "brotli", "zstd"]:
    frame.to_parquet(f"pandas_{codec}.parquet", compression=codec)
frame.to_feather("pandas_default.feather")
frame.to_feather("pandas_zstd.feather", compression="zstd")

# polars: its defaults (Parquet zstd, IPC uncompressed) and the other codecs.
polars_frame.write_parquet("polars_default.parquet")
for codec in ["lz4", "snappy", "gzip", "brotli"]:
    polars_frame.write_parquet(f"polars_{codec}.parquet", compression=codec)
for codec in ["lz4", "zstd"]:
    polars_frame.write_ipc(f"polars_{codec}.arrow", compression=codec)

# CSV with an infinity, a minus infinity and a NaN in a numeric column, as each writes it:
# pandas `inf`, `-inf` and an empty field for NaN; polars `inf`, `-inf`, `NaN`.
special = pd.DataFrame({
    "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    "x": [0.5, np.inf, -np.inf, np.nan, 2.5, 3.5],
    "g": ["a", "a", "b", "b", "c", "c"],
})
special.to_csv("pandas_inf_nan.csv", index=False)
special.to_csv("pandas_inf_nan_narep.csv", index=False, na_rep="nan")
pl.from_pandas(special, nan_to_null=False).write_csv("polars_inf_nan.csv")
