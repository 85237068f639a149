"""Screens of the app. Dialogs (new run, kill, resume, note, tags) go here as ModalScreens."""
