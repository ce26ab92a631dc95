"""wasmlite.environ"""
