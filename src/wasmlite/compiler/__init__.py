"""wasmlite.compiler"""
