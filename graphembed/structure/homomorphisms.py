"""Compatibility re-exports: the code lives in ``motifs``, ``hom_counting`` and ``hom_sampling``."""
from graphembed.structure.hom_counting import (
                                               TABLE_BUDGET,
                                               EliminationPlan,
                                               as_graph,
                                               check_node_weights,
                                               check_table_budget,
                                               elimination_order,
                                               hom_count,
                                               tree_decomposition,
                                               tree_tables,
)
from graphembed.structure.hom_sampling import CHAINS, HomomorphismSampler, HomResult
from graphembed.structure.motifs import Motif

__all__ = ["CHAINS", "TABLE_BUDGET", "EliminationPlan", "HomResult", "HomomorphismSampler", "Motif",
           "as_graph", "check_node_weights", "check_table_budget", "elimination_order", "hom_count",
           "tree_decomposition", "tree_tables"]
