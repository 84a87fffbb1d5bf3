"""Light-ASD (Liao et al., CVPR 2023), vendored: the network in ``model.py`` (imports torch;
import it only where a model is built). The input contract and loading are faces/asd.py's."""
