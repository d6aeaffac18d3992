"""The ELPV settings the benchmark scripts share: name -> keyword arguments of `ossad.protocols.make_split`."""
SETTINGS = {"general-1": dict(setting="general", shots=1), "general-10": dict(setting="general", shots=10),
            "hard-10-mono": dict(setting="hard", shots=10, known_class="mono"), "hard-10-poly": dict(setting="hard", shots=10, known_class="poly"),
            "anomaly-free": dict(setting="anomaly_free", shots=0),
            # IGD's robustness settings (one-class: no labelled anomalies)
            "contamination-5": dict(setting="contamination", shots=0, contamination=0.05), "contamination-10": dict(setting="contamination", shots=0, contamination=0.10),
            "small-10": dict(setting="small_train", shots=0, train_fraction=0.1), "small-50": dict(setting="small_train", shots=0, train_fraction=0.5)}
DEFAULT_SETTINGS = ["general-1", "general-10", "hard-10-mono", "hard-10-poly"]   # the DRA paper's ELPV settings
