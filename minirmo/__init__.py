"""minirmo: see reward-model overoptimization happen on a laptop CPU.

A small reproduction of *Scaling Laws for Reward Model Overoptimization*
(Gao, Schulman & Hilton, 2022). One concept per module:

    kl      analytic and exact best-of-n KL, sampled-KL estimators
    bon     the unbiased best-of-n estimator
    fit     the paper's functional forms, least-squares fits, peaks, scaling fits
    world   the synthetic world: words, teacher language, hidden "human" utility
    policy  the tiny GPT-2 policy: SFT, sampling, per-token log-probs
    reward  reward models, Bradley-Terry training, gold and proxy recipes
    ppo     PPO from scratch
    experiments, plots, cli   the paper's sweeps, figures and the `minirmo` command
"""

__version__ = "0.1.0"
