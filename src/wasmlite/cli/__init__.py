"""wasmlite.cli"""
