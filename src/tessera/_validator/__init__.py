"""The validator: which receipts to re-check (sampling.py), the re-checks themselves
(recheck.py over one file per check), and the daemon that challenges what they prove wrong."""
