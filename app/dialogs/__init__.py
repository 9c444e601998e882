"""Dialogs: first-run weights download, offline choices, model picker."""
