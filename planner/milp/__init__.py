"""The fleet model: one mixed-integer program for `planner plan` and `planner buildout`.

- ``problem``: the input types (SKU columns, sites, periods, cohorts) as plain numbers;
- ``formulation``: the model in notation (its docstring), one ``define_*`` per family, the cap table,
  the one cost function (``evaluate_period``) and the violation check;
- ``names``: the registry from (family, key) to the solver's label and the formulation's grammar;
- ``solve``: HiGHS (or CBC) on a built model with ``SolverOptions``, its ``Status``;
- ``evaluate``: a single-period decision's figures; ``aggregate``: time aggregation and the
  fixed-fleet dispatch; ``modelfile``: ``--write-model``; ``reason``: an infeasibility diagnosis.

It imports only the demand curve, economics and errors."""
