"""A 100 MiB attachment streams through the server: memory stays far below the file's size.

The figures (growth, throughput) are printed by `make bench`; this only guards a generous
bound, so that a change that buffers whole files fails here.
"""

from pathlib import Path

import pytest

from bench.uploads import measure_upload

pytestmark = pytest.mark.slow

SIZE_MIB = 100
# Streaming holds about two S3 parts (2 x 5 MiB) plus buffers; buffering the file would cost
# at least its size.
MAX_GROWTH_MIB = 60


def test_hundred_mib_upload_to_s3_keeps_server_memory_small(server_dir: Path) -> None:
    result = measure_upload("s3", size_mib=SIZE_MIB, workdir=server_dir)
    print(result.line())
    assert result.status == 201
    assert result.peak_growth_mib < MAX_GROWTH_MIB
