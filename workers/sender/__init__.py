"""The sender: delivers approved emails over SMTP, exactly once, one send per draft."""
