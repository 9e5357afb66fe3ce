"""Steering cells through their concepts: toward a target state (issue 24)."""

from scconcepts.steering._controls import CONTROLS, control_changes
from scconcepts.steering._readouts import HeldOutClassifier, knn_landing, reference_de, right_way
from scconcepts.steering._run import steer_toward
from scconcepts.steering._toward import MIN_EFFECT, choose_concepts, goal_codes, move_codes

__all__ = [
    "CONTROLS",
    "MIN_EFFECT",
    "HeldOutClassifier",
    "choose_concepts",
    "control_changes",
    "goal_codes",
    "knn_landing",
    "move_codes",
    "reference_de",
    "right_way",
    "steer_toward",
]
