"""Where money is split: each answer's price into payouts, epochs into Merkle roots, audits."""
