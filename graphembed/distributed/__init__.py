"""Dask backends: partitioned edge input, FastRP as row-block tasks, partitioned embedding output.

Imported only when a ``scheduler`` is given (``--scheduler`` on the command line, ``scheduler=`` in
the API) or a partitioned graph is read: ``import graphembed`` and ``graphembed --help`` never
import dask. Needs the optional extra: ``pip install 'graphembed[dask]'``.

* :func:`graphembed.distributed.scheduler.client_for`: ``"local:N"``, ``"tcp://host:port"`` or a
  ``dask.distributed.Client`` -> a Client (a LocalCluster it started is closed afterwards).
* :func:`graphembed.distributed.edges.read_partitioned`: a directory or glob of Parquet/CSV edge
  files -> :class:`~graphembed.distributed.graph.PartitionedGraph` (CSR row blocks on the workers).
* :func:`graphembed.distributed.fastrp.fit_blocks`: FastRP's iterate as row blocks, bit-identical
  to the local run with the same seed.
* :func:`graphembed.distributed.output.write_blocks`: one Parquet file per row block.
* :mod:`graphembed.distributed.walks`: node2vec / DeepWalk walks by round and start-node range
  over the graph sent once to each worker, identical to the local walks, written as text shards;
  skip-gram then trains on the driver (gensim has no distributed mode).
* :mod:`graphembed.distributed.orbits`: orbit counts by node ranges, exactly the local counts.
* :mod:`graphembed.distributed.grf`: graph random features by node ranges, bit-identical.
* :mod:`graphembed.distributed.index`: an IVF index trained at the driver, vectors added per
  embedding part on the workers, shards merged.
"""

MISSING = "needs dask: pip install 'graphembed[dask]'"


def require_dask(what="scale-out on Dask"):
    """Import ``dask.distributed``; an ImportError with the project's one-line install hint when
    it is missing (the CLI turns it into one line on stderr and exit 2)."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        err = ImportError(f"{what} {MISSING}")
        err.name = "dask"
        raise err from None
    import dask.distributed

    return dask.distributed
