"""Lava Processes and ProcessModels of the Lava backend.

Lava's compiler executes every module in the directory of a Process class
while it searches for ProcessModels, so this package holds nothing else.
"""
