"""The result of an EmbeddingIndex query: :class:`Neighbors` (positions and scores per query, with
the node ids they name)."""


class Neighbors:
    """Neighbours of ``q`` queries.

    ``positions`` (q, k) int64 rows of the index (-1 where fewer than k were found),
    ``scores`` (q, k) float32 (NaN there). ``result[i]`` is ``(ids, scores)`` of query ``i`` with
    the missing entries dropped; ``ids`` lists those per query.
    """

    def __init__(self, node_ids, positions, scores, metric, queries=None):
        self.positions = positions
        self.scores = scores
        self.metric = metric
        self.queries = queries
        self._node_ids = node_ids

    def __len__(self):
        return self.positions.shape[0]

    def __getitem__(self, i):
        pos = self.positions[i]
        found = pos >= 0
        return self._node_ids[pos[found]], self.scores[i][found]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def ids(self):
        return [self[i][0] for i in range(len(self))]

    def rows(self):
        """(query, rank, neighbor, score) tuples; rank starts at 1."""
        queries = self.queries if self.queries is not None else range(len(self))
        for q, (ids, scores) in zip(queries, self):
            for rank, (node, score) in enumerate(zip(ids.tolist(), scores.tolist()), 1):
                yield q, rank, node, score

    def to_arrow(self):
        """A pyarrow table with columns query, rank, neighbor, score."""
        import pyarrow as pa

        rows = list(self.rows())
        cols = list(zip(*rows)) if rows else [[], [], [], []]
        id_type = pa.string() if self._node_ids.dtype.kind == "O" else pa.int64()
        queries = list(cols[0])
        query_type = pa.string() if any(isinstance(q, str) for q in queries) else pa.int64()
        return pa.table({"query": pa.array([str(q) for q in queries] if query_type == pa.string()
                                           else queries, type=query_type),
                         "rank": pa.array(list(cols[1]), type=pa.int32()),
                         "neighbor": pa.array(list(cols[2]), type=id_type),
                         "score": pa.array(list(cols[3]), type=pa.float32())})

    def __repr__(self):
        return f"Neighbors({len(self)} queries x k={self.positions.shape[1]}, metric={self.metric!r})"
