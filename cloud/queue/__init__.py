"""The job queue: which queued job goes to which printer."""
