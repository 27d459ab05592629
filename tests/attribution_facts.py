"""Four planted facts and a question about the first: the attribution tests' shared case."""

DOCUMENTS = [
    "The Ulora Brewery was established by Radul Thothosa.",
    "The Kessin Bridge spans the river Amaro and was designed by Mila Vortan.",
    "Tarvel Academy was founded in 1872 by the scholar Ives Pendrake.",
    "The Orin Lighthouse was built by the engineer Sabel Quenn.",
]
QUESTION = "Who established the Ulora Brewery?"
ANSWER = "Radul Thothosa"
