"""wasmlite.binary"""
