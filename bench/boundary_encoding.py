"""Measures the two ways to send a 100x100 decision boundary: 10 000 rects vs one PNG image layer.

Run: python -m bench.boundary_encoding  (prints Python time and bytes on the wire, side by side)
"""

import io
import time

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from nnplay import Config, Trainer, charts


def arrow_bytes(df: pd.DataFrame) -> int:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(df)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return len(sink.getvalue())


def main(repeats: int = 5) -> None:
    trainer = Trainer(Config())
    trainer.step(300)
    grid = trainer.boundary(resolution=100)
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    alt.data_transformers.disable_max_rows()
    rows = []
    for name in ("rect", "png"):
        start = time.perf_counter()
        for _ in range(repeats):
            if name == "rect":
                data = pd.DataFrame({"x": gx.ravel(), "y": gy.ravel(), "p": grid.values.ravel()})
                chart = alt.Chart(data).mark_rect().encode(x="x:Q", y="y:Q", color="p:Q")
            else:
                url = charts._png(charts.colour_grid(grid.values, "binary")[::-1])
                data = pd.DataFrame(
                    {"x": [grid.xs[0]], "x2": [grid.xs[-1]], "y": [grid.ys[-1]], "y2": [grid.ys[0]], "url": [url]}
                )
                chart = (
                    alt.Chart(data).mark_image(aspect=False).encode(x="x:Q", x2="x2:Q", y="y:Q", y2="y2:Q", url="url:N")
                )
            # Streamlit ships the data as Arrow beside a spec without inline rows.
            spec = chart.properties(data=data.head(0)).to_json()
            wire = arrow_bytes(data)
        ms = (time.perf_counter() - start) / repeats * 1000
        rows.append((name, ms, (len(spec) + wire) / 1024))
    for name, ms, kb in rows:
        print(f"{name:5} {ms:7.1f} ms in Python   {kb:7.1f} KB (spec + Arrow data)")
    print(f"png / rect: {rows[1][2] / rows[0][2]:.2f}x the bytes, {rows[1][1] / rows[0][1]:.2f}x the time")


if __name__ == "__main__":
    main()
