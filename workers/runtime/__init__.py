"""What every worker pool shares: broker, worker context, dead-lettering and the task runner."""
