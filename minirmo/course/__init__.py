"""The course kit: minirmo's core modules as graded assignments (docs/teaching.md).

Four modules, each feeding the next:

    tasks       the registry: each task's id, statement, module, functions, test file, minutes
                and points; the sources mark its solution between "# BEGIN SOLUTION Task X.Y"
                and "# END SOLUTION"
    handout     `minirmo handout DIR`: the student's copy of the project, cut from the marked
                sources of a source checkout, every solution region replaced by a stub that
                raises NotImplementedError("Task X.Y: ...")
    grade       `minirmo grade [DIR]`: the grader's task tests (and, with --hidden, the
                instructor's hidden tests) run on a student's package, a per-task score, JUnit
                XML and a Gradescope results.json
    autograder  `minirmo autograder OUT.zip`: a Gradescope autograder (setup.sh,
                run_autograder, a handout as the spec, the hidden tests) that runs `grade`

Nothing in the science modules imports the kit; only the CLI does.
"""
