"""The scoring agent (alias planning): explainable fit and intent scores, and who to reach first."""
