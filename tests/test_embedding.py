"""Embedding files: every format round-trips ids and float32 vectors; writes are atomic."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import graphembed as ge
from graphembed.io.errors import InputError

FORMATS = ["emb.parquet", "emb.csv", "emb.tsv", "emb.npz", "emb.w2v", "emb.txt", "emb.emb", "emb.bin"]


@pytest.fixture(params=["int", "str"])
def emb(request, rng):
    ids = np.arange(10, 60, 5) if request.param == "int" else [f"node-{i}" for i in range(10)]
    return ge.Embedding(ids, rng.normal(size=(10, 7)).astype(np.float32), "fastrp", {"dim": 7})


@pytest.mark.parametrize("name", FORMATS)
def test_round_trip(tmp_path, emb, name):
    if name.endswith(".bin"):
        pytest.importorskip("gensim")
    path = tmp_path / name
    emb.save(path)
    back = ge.Embedding.load(path)
    assert back.node_ids.tolist() == emb.node_ids.tolist()
    assert back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, emb.vectors)  # float32 text is exact round-trip
    first = emb.node_ids[0]
    np.testing.assert_array_equal(back[first], emb.vectors[0])


def test_parquet_layout_and_metadata(tmp_path, emb):
    emb.save(tmp_path / "e.parquet")
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.column_names == ["node", "embedding"]
    assert pa.types.is_fixed_size_list(table.schema.field("embedding").type)
    assert table.schema.field("embedding").type.list_size == 7
    back = ge.Embedding.load(tmp_path / "e.parquet")
    assert back.method == "fastrp" and back.params == {"dim": 7}


def test_csv_header(tmp_path, emb):
    emb.save(tmp_path / "e.csv")
    header = (tmp_path / "e.csv").read_text().splitlines()[0]
    assert header.replace('"', "") == "node," + ",".join(str(i) for i in range(7))


def test_npz_has_no_pickles(tmp_path, emb):
    emb.save(tmp_path / "e.npz")
    with np.load(tmp_path / "e.npz", allow_pickle=False) as data:
        assert data["vectors"].shape == (10, 7)
        assert data["nodes"].dtype.kind in "iU"


def test_w2v_loads_in_gensim(tmp_path, emb):
    gensim = pytest.importorskip("gensim")
    emb.save(tmp_path / "e.w2v")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "e.w2v"))
    key = str(emb.node_ids[3])
    np.testing.assert_allclose(kv[key], emb.vectors[3], rtol=1e-6)
    kv2 = emb.to_keyed_vectors()
    np.testing.assert_array_equal(kv2[key], emb.vectors[3])


def test_reads_gensim_written_w2v(tmp_path, emb):
    pytest.importorskip("gensim")
    kv = emb.to_keyed_vectors()
    kv.save_word2vec_format(str(tmp_path / "g.w2v"))
    back = ge.Embedding.load(tmp_path / "g.w2v")
    np.testing.assert_allclose(back[str(emb.node_ids[2])], emb.vectors[2], rtol=1e-6)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, emb, monkeypatch):
    from graphembed.io import embedding_files

    path = tmp_path / "e.parquet"
    emb.save(path)
    before = path.read_bytes()

    def boom(e, tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setitem(embedding_files._WRITERS, "parquet", boom)
    with pytest.raises(RuntimeError):
        emb.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet"]


def test_lookup_accepts_digit_strings_and_rejects_unknown():
    e = ge.Embedding(np.array([3, 5]), np.eye(2))
    np.testing.assert_array_equal(e["5"], [0, 1])
    assert 3 in e and "3" in e and 4 not in e
    with pytest.raises(KeyError):
        e[4]


def test_unknown_extension_and_missing_file(tmp_path, emb):
    with pytest.raises(InputError, match="extension"):
        emb.save(tmp_path / "e.bin2")
    with pytest.raises(InputError, match="not found"):
        ge.Embedding.load(tmp_path / "none.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="bad.parquet"):
        ge.Embedding.load(tmp_path / "bad.parquet")


@pytest.mark.parametrize("name, binary", [("e.emb", False), ("e.w2v", False), ("e.bin", True)])
def test_word2vec_files_are_gensims(tmp_path, emb, name, binary):
    """What graphembed writes gensim reads, and the other way round (text .emb and binary .bin)."""
    gensim = pytest.importorskip("gensim")
    emb.save(tmp_path / name)
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
    assert kv.index_to_key == [str(v) for v in emb.node_ids.tolist()]
    np.testing.assert_array_equal(kv.vectors, emb.vectors)
    theirs = tmp_path / ("theirs" + name[1:])
    kv.save_word2vec_format(str(theirs), binary=binary)
    back = ge.Embedding.load(theirs)
    assert back.node_ids.tolist() == emb.node_ids.tolist()
    np.testing.assert_array_equal(back.vectors, emb.vectors)


def test_files_record_version_method_params_and_input(tmp_path):
    g = ge.read_graph("dataset:karate")
    emb = ge.FastRP(dim=8, random_state=3).fit_transform(g)
    assert emb.input["format"] == "csv" and emb.input["nodes"] == 34 and emb.input["edges"] == 78
    for name in ("e.parquet", "e.npz"):
        emb.save(tmp_path / name)
        back = ge.Embedding.load(tmp_path / name)
        assert back.graphembed_version == ge.__version__
        assert back.method == "fastrp" and back.params["dim"] == 8 and back.params["random_state"] == 3
        assert back.input == {"source": g.stats["source"], "format": "csv", "header": "detected",
                              "input_edges": 78, "self_loops_dropped": 0, "duplicates_merged": 0,
                              "directed": False, "weighted": False, "nodes": 34, "edges": 78}
        np.testing.assert_array_equal(back.vectors, emb.vectors)
    plain = ge.Embedding([1, 2], np.eye(2))
    plain.save(tmp_path / "p.parquet")
    back = ge.Embedding.load(tmp_path / "p.parquet")
    assert back.input is None and back.graphembed_version == ge.__version__
