"""Fine-tuning as steps (data, compile, fit, finalize, save) that train.sh, FineTuner and the
benchmarks chain; ``workflow.train`` runs them all, ``run.run`` is train.sh's whole job."""
