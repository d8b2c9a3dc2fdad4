"""The rules of the Measures and the records they govern. Nothing here knows about HTTP."""
