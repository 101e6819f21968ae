"""The hand-written protobuf writer (export/serialize.py) against onnx's own ModelProto.

docs/benchmarks.md: the writer appends each initializer's numpy buffer as a protobuf field
and "``onnx.load`` reads back the identical model". Held here on every fixture: the file
``ExportResult.write`` produces parses to the very ModelProto that ``ExportResult.model``
builds with onnx (``numpy_helper.from_array``), and has the size of its
``SerializeToString()`` (the same fields, the initializers placed after the rest of the
graph instead of in field order).
"""

import onnx
import pytest
from conftest import converted, fixture_files


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("written") / "model.onnx"


@pytest.mark.parametrize("entry, path", fixture_files())
def test_written_bytes_parse_to_the_onnx_model_proto(entry, path, scratch):
    _, exported = converted(entry, path)
    exported.write(scratch)
    written = scratch.read_bytes()
    expected = exported.model
    assert onnx.load_from_string(written) == expected
    assert len(written) == len(expected.SerializeToString())
    assert exported.initializers and len(expected.graph.initializer) == len(exported.initializers)
