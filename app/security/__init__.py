"""Access is decided here and nowhere else: the roles (``roles``), what rows a user
may see and change (``scope``), and the security manager that wires them into FAB."""
