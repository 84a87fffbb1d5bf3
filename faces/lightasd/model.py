"""Light-ASD's network, for inference (Liao et al., "A Light Weight Model for Active Speaker
Detection", CVPR 2023; github.com/Junhua-Liao/Light-ASD, MIT licence, see
faces/models/NOTICE).

Vendored from the snapshot's model/Encoder.py, model/Classifier.py, model/Model.py and
loss.py. The layers, their order and every attribute name are the original's, so the
authors' checkpoints load with ``strict=True`` once their prefixes are stripped
(``model.`` for :class:`ASD_Model`, ``lossAV.`` for :class:`ScoreHead`). Class names are
the original's too, for comparing with upstream. Left out: the random weight
initialisation and the training losses (the BCE of ``lossAV`` and the visual-only
``lossV`` head, whose weights the checkpoints also carry and inference never uses).
"""

from __future__ import annotations

import torch
from torch import nn


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.01, eps=0.001)


def _bn3d(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, momentum=0.01, eps=0.001)


class Audio_Block(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.m_3 = nn.Conv2d(in_channels, out_channels, (3, 1), padding=(1, 0), bias=False)
        self.bn_m_3 = _bn2d(out_channels)
        self.t_3 = nn.Conv2d(out_channels, out_channels, (1, 3), padding=(0, 1), bias=False)
        self.bn_t_3 = _bn2d(out_channels)
        self.m_5 = nn.Conv2d(in_channels, out_channels, (5, 1), padding=(2, 0), bias=False)
        self.bn_m_5 = _bn2d(out_channels)
        self.t_5 = nn.Conv2d(out_channels, out_channels, (1, 5), padding=(0, 2), bias=False)
        self.bn_t_5 = _bn2d(out_channels)
        self.last = nn.Conv2d(out_channels, out_channels, (1, 1), padding=(0, 0), bias=False)
        self.bn_last = _bn2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_3 = self.relu(self.bn_m_3(self.m_3(x)))
        x_3 = self.relu(self.bn_t_3(self.t_3(x_3)))
        x_5 = self.relu(self.bn_m_5(self.m_5(x)))
        x_5 = self.relu(self.bn_t_5(self.t_5(x_5)))
        x = x_3 + x_5
        return self.relu(self.bn_last(self.last(x)))


class Visual_Block(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, is_down: bool = False) -> None:
        super().__init__()
        stride = (1, 2, 2) if is_down else (1, 1, 1)
        self.relu = nn.ReLU()
        self.s_3 = nn.Conv3d(
            in_channels, out_channels, (1, 3, 3), stride=stride, padding=(0, 1, 1), bias=False
        )
        self.bn_s_3 = _bn3d(out_channels)
        self.t_3 = nn.Conv3d(out_channels, out_channels, (3, 1, 1), padding=(1, 0, 0), bias=False)
        self.bn_t_3 = _bn3d(out_channels)
        self.s_5 = nn.Conv3d(
            in_channels, out_channels, (1, 5, 5), stride=stride, padding=(0, 2, 2), bias=False
        )
        self.bn_s_5 = _bn3d(out_channels)
        self.t_5 = nn.Conv3d(out_channels, out_channels, (5, 1, 1), padding=(2, 0, 0), bias=False)
        self.bn_t_5 = _bn3d(out_channels)
        self.last = nn.Conv3d(out_channels, out_channels, (1, 1, 1), padding=(0, 0, 0), bias=False)
        self.bn_last = _bn3d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_3 = self.relu(self.bn_s_3(self.s_3(x)))
        x_3 = self.relu(self.bn_t_3(self.t_3(x_3)))
        x_5 = self.relu(self.bn_s_5(self.s_5(x)))
        x_5 = self.relu(self.bn_t_5(self.t_5(x_5)))
        x = x_3 + x_5
        return self.relu(self.bn_last(self.last(x)))


class visual_encoder(nn.Module):
    """(B, 1, T, 112, 112) normalised grey faces -> (B, T, 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = Visual_Block(1, 32, is_down=True)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.block2 = Visual_Block(32, 64)
        self.pool2 = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.block3 = Visual_Block(64, 128)
        self.maxpool = nn.AdaptiveMaxPool2d((1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.block1(x))
        x = self.pool2(self.block2(x))
        x = self.block3(x)
        x = x.transpose(1, 2)
        b, t, c, w, h = x.shape
        x = self.maxpool(x.reshape(b * t, c, w, h))
        return x.view(b, t, c)


class audio_encoder(nn.Module):
    """(B, 1, 13, 4T) MFCC -> (B, T, 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = Audio_Block(1, 32)
        # MaxPool3d on a 4-d tensor, as the original: it pools the last (time) axis by 2
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 1, 3), stride=(1, 1, 2), padding=(0, 0, 1))
        self.block2 = Audio_Block(32, 64)
        self.pool2 = nn.MaxPool3d(kernel_size=(1, 1, 3), stride=(1, 1, 2), padding=(0, 0, 1))
        self.block3 = Audio_Block(64, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.block1(x))
        x = self.pool2(self.block2(x))
        x = self.block3(x)
        x = torch.mean(x, dim=2, keepdim=True)
        return x.squeeze(2).transpose(1, 2)


class BGRU(nn.Module):
    """Two one-way GRUs, forward then backward in time, each followed by a GELU."""

    def __init__(self, channel: int) -> None:
        super().__init__()
        self.gru_forward = nn.GRU(
            input_size=channel, hidden_size=channel, num_layers=1, bias=True, batch_first=True
        )
        self.gru_backward = nn.GRU(
            input_size=channel, hidden_size=channel, num_layers=1, bias=True, batch_first=True
        )
        self.gelu = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.gru_forward(x)
        x = self.gelu(x)
        x = torch.flip(x, dims=[1])
        x, _ = self.gru_backward(x)
        x = torch.flip(x, dims=[1])
        return self.gelu(x)


class ASD_Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.visualEncoder = visual_encoder()
        self.audioEncoder = audio_encoder()
        self.GRU = BGRU(128)

    def forward_visual_frontend(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, 112, 112) grey faces, 0..255 as float -> (B, T, 128)."""
        b, t, w, h = x.shape
        x = x.view(b, 1, t, w, h)
        x = (x / 255 - 0.4161) / 0.1688
        return self.visualEncoder(x)

    def forward_audio_frontend(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 4T, 13) MFCC -> (B, T, 128)."""
        x = x.unsqueeze(1).transpose(2, 3)
        return self.audioEncoder(x)

    def forward_audio_visual_backend(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x = self.GRU(x1 + x2)
        return torch.reshape(x, (-1, 128))

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """(B, 4T, 13) MFCC and (B, T, 112, 112) faces -> (B * T, 128) fused embeddings."""
        embed_a = self.forward_audio_frontend(audio)
        embed_v = self.forward_visual_frontend(visual)
        return self.forward_audio_visual_backend(embed_a, embed_v)


class ScoreHead(nn.Module):
    """``lossAV``'s linear layer; the score is the logit of "speaking" (its output 1), as
    ``lossAV.forward(x, labels=None)`` returns it: above 0 means speaking."""

    def __init__(self) -> None:
        super().__init__()
        self.FC = nn.Linear(128, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.FC(x.squeeze(1))[:, 1]
