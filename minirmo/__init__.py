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
    runs      the experiment layer: presets, the artefact cache, one seed's artefact graph,
              and the studies (rows carrying seed, method and the proxy's identity)
    analysis  grouping, seed means with bands, fits per seed and on the seed mean
    findings  the claims each preset must show, checked one seed at a time
    report    the printed summaries ("holds in k of n seeds")
    plots     the paper's figures, drawn from what analysis hands over
    reproduce, cli   what each command runs, and the `minirmo` command

Data flows one way: world -> policy -> reward -> bon / ppo -> runs -> analysis -> plots,
report.
"""

__version__ = "0.1.0"
