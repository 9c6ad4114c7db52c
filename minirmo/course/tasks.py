"""The course's tasks: what a student implements, where, how long it takes and what it is worth.

Every task is a region of a real module, opened in the source by a comment line
"# BEGIN SOLUTION Task 2.2: the unbiased best-of-n estimator" and closed by "# END SOLUTION".
`minirmo handout DIR` (module `minirmo.course.handout`) replaces each such region by
``raise NotImplementedError("Task 2.2: the unbiased best-of-n estimator")``, keeping the
signature and the docstring. A task may span several regions (for instance both branches of
`kl.bon_kl`); all of them carry the same id and statement.

Each task's tests carry the pytest marker `task_2_2` (``pytest -m task_2_2``); `minirmo grade`
(module `minirmo.course.grade`) runs them and scores each task by its `weight`. `minutes` is an
estimate of a student's time, reading included, for someone who knows PyTorch and has read the
paper's section the task comes from.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """One assignment: `id` like "2.2", a one-line statement, its module and functions."""

    id: str
    title: str
    module: str  # path of the module in the project, e.g. "minirmo/bon.py"
    functions: tuple[str, ...]  # what the student implements there
    tests: str  # the test file holding this task's marked tests
    minutes: int  # estimated student time
    weight: float  # default points in `minirmo grade`

    @property
    def marker(self) -> str:
        """The pytest marker of this task's tests, e.g. "task_2_2"."""
        return "task_" + self.id.replace(".", "_")

    @property
    def message(self) -> str:
        """What the stub raises: "Task 2.2: the unbiased best-of-n estimator"."""
        return f"Task {self.id}: {self.title}"


TASKS = (
    Task("1.1", "the best-of-n KL log n − (n − 1)/n", "minirmo/kl.py", ("bon_kl",),
         "tests/test_kl.py", 15, 4),
    Task("1.2", "the exact best-of-n KL of a discrete distribution with ties", "minirmo/kl.py",
         ("bon_kl_exact",), "tests/test_kl.py", 60, 8),
    Task("1.3", "the per-token KL estimators k1, k2, k3", "minirmo/kl.py", ("k1", "k2", "k3"),
         "tests/test_kl.py", 15, 4),
    Task("1.4", "the sampled KL of each sequence, masked and summed over tokens",
         "minirmo/kl.py", ("sampled_kl",), "tests/test_kl.py", 20, 4),
    Task("2.1", "the best-of-n weights, in log space", "minirmo/bon.py", ("_bon_weight_matrix",),
         "tests/test_bon.py", 45, 8),
    Task("2.2", "the unbiased best-of-n estimator", "minirmo/bon.py", ("bon_estimate",),
         "tests/test_bon.py", 30, 10),
    Task("3.1", "the two functional forms R_bon(d) and R_RL(d)", "minirmo/fit.py",
         ("bon_form", "rl_form", "_d_log_d"), "tests/test_fit.py", 15, 4),
    Task("3.2", "the peaks (d*, R*) of both forms", "minirmo/fit.py", ("bon_peak", "rl_peak"),
         "tests/test_fit.py", 20, 4),
    Task("3.3", "the coefficient of determination R²", "minirmo/fit.py", ("r_squared",),
         "tests/test_fit.py", 15, 4),
    Task("3.4", "least-squares fits of both forms", "minirmo/fit.py",
         ("_fit", "fit_bon", "fit_rl"), "tests/test_fit.py", 30, 6),
    Task("3.5", "the scaling line in log10(params) and the power law", "minirmo/fit.py",
         ("fit_scaling", "fit_power"), "tests/test_fit.py", 20, 4),
    Task("4.1", "the Bradley–Terry loss", "minirmo/reward.py", ("bradley_terry_loss",),
         "tests/test_reward.py", 15, 6),
    Task("5.1", "generalized advantage estimation (GAE) and returns", "minirmo/ppo.py",
         ("gae",), "tests/test_ppo.py", 45, 8),
    Task("5.2", "the clipped policy loss", "minirmo/ppo.py", ("policy_loss",),
         "tests/test_ppo.py", 30, 8),
    Task("5.3", "the clipped value loss", "minirmo/ppo.py", ("value_loss",),
         "tests/test_ppo.py", 20, 6),
    Task("5.4", "the per-token KL penalty", "minirmo/ppo.py", ("kl_penalty",),
         "tests/test_ppo.py", 15, 4),
    Task("5.5", "the adaptive KL controller", "minirmo/ppo.py", ("update_kl_coef",),
         "tests/test_ppo.py", 15, 4),
    Task("5.6", "the update diagnostics (clip fraction, approximate KL)", "minirmo/ppo.py",
         ("update_diagnostics",), "tests/test_ppo.py", 20, 4),
    Task("6.1", "the leave-one-out advantages of RLOO", "minirmo/critic_free.py",
         ("leave_one_out_advantages",), "tests/test_critic_free.py", 15, 4),
    Task("6.2", "the group-normalized advantages of GRPO", "minirmo/critic_free.py",
         ("group_normalized_advantages",), "tests/test_critic_free.py", 15, 4),
    Task("6.3", "the loss of GRPO (clipped surrogate and k3 KL term)",
         "minirmo/critic_free.py", ("grpo_loss",), "tests/test_critic_free.py", 20, 6),
)

BY_ID = {task.id: task for task in TASKS}

