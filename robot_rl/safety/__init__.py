"""The safety layer on every path to a motor (DESIGN.md "Safety"): shield layers, triggers, backups.

``SafetyShield`` (shield.py) is the innermost env wrapper; the watchdog and e-stop (watchdog.py) live
in the robot nodes. Nothing here imports ROS or a simulator.
"""
