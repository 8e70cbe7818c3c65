"""dossiergen: one source of structured CMC data, rendered into CTD Module 3 and regional annexes."""

__version__ = "0.1.0"
