"""rclpy shells around the core: read parameters, build core objects, forward messages. No learning logic."""
