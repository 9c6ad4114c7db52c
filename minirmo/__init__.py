"""minirmo: see reward-model overoptimization happen on a laptop CPU.

A small reproduction of *Scaling Laws for Reward Model Overoptimization*
(Gao, Schulman & Hilton, 2022). One concept per module:

    kl      analytic and exact best-of-n KL, sampled-KL estimators
    bon     the unbiased best-of-n estimator
    fit     the paper's functional forms, least-squares fits, peaks, scaling fits
    world   the synthetic world: words, teacher language, hidden "human" utility
    policy  the tiny GPT-2 policy: SFT, sampling, per-token log-probs
    reward  reward models, Bradley-Terry training, gold and proxy recipes
    pretrain  the cheap verdict corpus, and a reward model's backbone pretrained on it
    ppo     PPO from scratch
    critic_free  RLOO and GRPO from scratch: group baselines instead of a value network
    ensemble  reward-model ensembles (mean, worst case, uncertainty-weighted), label-noise flips
    dpo       DPO and IPO from scratch: preferences optimized with no reward model
    runs      the experiment layer: presets and `--set` overrides, one seed's artefact graph
              and what each artefact computes, the cache, the studies (runs/__init__.py)
    analysis  grouping, seed means with bands, fits per seed and on the seed mean
    findings  the claims each preset must show, checked one seed at a time
    report    the printed summaries ("holds in k of n seeds")
    plots     the paper's figures, drawn from what analysis hands over
    reproduce, cli   what each command runs, and the `minirmo` command
    course.tasks    the course kit's registry: each task's statement, module, tests, points
    course.handout  the student's copy of a source checkout, every solution region stubbed
    course.grade    the task tests run on a student's copy, a score per task

Data flows one way: world -> policy -> reward -> bon / ppo / ensemble / dpo -> runs ->
analysis -> plots, report. The course kit reads the sources and tests; no module imports it
but cli.
"""

__version__ = "0.1.0"
