"""wasmlite.wasi"""
