"""From counterpart candidates to classified X-ray binaries.

One concept per module: `chance` (chance coincidences from the local density of optical
sources; the shifted-catalogue false-match rate), `probabilities` (Bayesian association
probabilities p_i and p_any), `models` (MIST and PARSEC stellar-model files), `donors`
(donor masses from the CMD and the HMXB/IMXB/LMXB rule) and `pipeline` (all of it on a
candidates table: `classify_candidates`).
"""

from .chance import (
    FalseMatchRate,
    candidate_chance,
    chance_coincidences,
    false_match_rate,
    local_density,
)
from .donors import (
    EXCLUDED_TYPES,
    XRB_CLASSES,
    classify_sources,
    distance_modulus,
    donor_masses,
    mass_class,
    model_mass,
)
from .models import StellarModels, read_models
from .pipeline import Classification, apply_flags, classify_candidates, xray_from_candidates
from .probabilities import (
    R68_PER_SIGMA,
    association_probabilities,
    estimate_magnitude_weight,
    likelihood_ratio,
)

__all__ = [
    "EXCLUDED_TYPES",
    "R68_PER_SIGMA",
    "XRB_CLASSES",
    "Classification",
    "FalseMatchRate",
    "StellarModels",
    "apply_flags",
    "association_probabilities",
    "candidate_chance",
    "chance_coincidences",
    "classify_candidates",
    "classify_sources",
    "distance_modulus",
    "donor_masses",
    "estimate_magnitude_weight",
    "false_match_rate",
    "likelihood_ratio",
    "local_density",
    "mass_class",
    "model_mass",
    "read_models",
    "xray_from_candidates",
]
