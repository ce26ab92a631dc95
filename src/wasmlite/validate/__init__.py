"""wasmlite.validate"""
