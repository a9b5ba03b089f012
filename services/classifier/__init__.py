"""Classifier: category, region, responsible department and severity of each work order."""
