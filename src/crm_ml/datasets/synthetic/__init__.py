"""A synthetic CRM world with ground truth: `generate_world` and `oracle_churn_probability`.

The mechanism, shared by the three industry profiles (`retail`, `finance`, `b2b`):

- customers sign up over the history (a share is on board from the first month); the
  signup comes with a first order. Each has latent traits (truth/customers.parquet):
  purchase rate lambda ~ Gamma, base dropout chance p ~ Beta, Gamma-Gamma spend, taste
  factors, engagement and ticket rates, campaign responsiveness;
- buy-till-you-die: organic purchases are Poisson(lambda) while alive (08:00-22:00);
  after every purchase the customer leaves for good with chance p_k = 1 - (1 - p)
  exp(-(0.6 x open complaints + 0.3 x SLA breaches of the last 90 days)), both visible
  at the purchase (`purchases`, `service`);
- products in categories with low-rank customer x category (and product) factors, one-off
  and repeatable products, a sensitive category (`catalog`); order lines, quantities from
  the spend draw, channels, returns as negative lines (`purchases`);
- events: lead bundles (session, search, views, cart adds of the products) in the 45
  minutes before each order, and background engagement that fades with time constant
  `fade_days` after the dropout decision (`engagement`);
- tickets (consult / fault / complaint) with first responses drawn against the SLA
  targets, unresolved complaints, CSAT, and NPS surveys driven by service experience
  (`service`);
- campaigns every few weeks with a random control group, taking turns between a coupon,
  a service callback and a loyalty benefit; a treated customer answers with a chance
  that depends on the treatment and their situation (price sensitivity, an open
  complaint, tenure, a taste for the offer), so the best treatment differs per customer
  (`campaigns`);
- dismissed categories, consent withdrawals, a few erasure requests;
- optional dirt the contract quarantines (`dirt`).

Ground truth goes to `truth/`, never into the contract tables: latent traits, death
time, per-purchase dropout chance, category affinities, per-contact true effect, and the
oracle churn probability at the manifest's default cutoffs (`oracle` documents its
derivation). `history_oracle` gives the same probability with the purchase rate, dropout
chance and event rate integrated over their priors instead of known: the ceiling a model
of the observable history can aim at. Evaluation code may read truth/; features and
models never do.

Example::

    from crm_ml.datasets.synthetic import generate_world, oracle_churn_probability

    world = generate_world(Path("data/raw/synthetic"), customers=20_000, seed=42)
    oracle = oracle_churn_probability(world.out_dir, "2024-09-01")
"""

from crm_ml.datasets.synthetic.history_oracle import history_oracle_churn_probability
from crm_ml.datasets.synthetic.oracle import oracle_churn_probability
from crm_ml.datasets.synthetic.profiles import PROFILES, CategorySpec, IndustryProfile, SlaTargets
from crm_ml.datasets.synthetic.world import (
    WorldSummary,
    default_cutoffs,
    generate_world,
    is_current_world,
)

__all__ = [
    "PROFILES",
    "CategorySpec",
    "IndustryProfile",
    "SlaTargets",
    "WorldSummary",
    "default_cutoffs",
    "generate_world",
    "history_oracle_churn_probability",
    "is_current_world",
    "oracle_churn_probability",
]
