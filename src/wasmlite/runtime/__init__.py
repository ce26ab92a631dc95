"""wasmlite.runtime"""
