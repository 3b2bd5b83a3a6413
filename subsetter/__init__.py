"""subsetter: referentially complete subsets of a DataJoint database (``subset`` command)."""
