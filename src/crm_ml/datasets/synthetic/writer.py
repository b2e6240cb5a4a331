"""Streaming tables to `<dir>/<name>.parquet` (or .csv) chunk by chunk.

One writer per table keeps the first chunk's schema; later chunks are cast to it, so a
column that happens to be all-null in one chunk does not change the file's types. No
write time or host goes into the files: the same world gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv")


class TableSink:
    """Appends Arrow tables to one file per table name."""

    def __init__(self, directory: Path, file_format: str = "parquet") -> None:
        if file_format not in FORMATS:
            raise ValueError(f"file_format must be one of {FORMATS}, got {file_format!r}")
        self.directory = directory
        self.file_format = file_format
        self._writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.{self.file_format}"

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self._writers:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._schemas[name] = table.schema
            if self.file_format == "parquet":
                self._writers[name] = pq.ParquetWriter(
                    self.path(name), table.schema, compression="zstd"
                )
            else:
                self._writers[name] = pacsv.CSVWriter(self.path(name), table.schema)
            self.rows[name] = 0
        table = table.select(self._schemas[name].names).cast(self._schemas[name])
        self._writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def __enter__(self) -> TableSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
