"""Options that make a tiny HF model train in a second: shared by the token-classification tests."""

FAST = {
    "init": "from_config",
    "epochs": 1,
    "batch_size": 4,
    "learning_rate": 5e-3,
    "warmup": 0.0,
    "progress": False,
    "logging_steps": 1,
}
