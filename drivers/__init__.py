"""Robot I/O over ROS 2: the gymnasium env over a robot's topics, drivers and their topic contract."""
