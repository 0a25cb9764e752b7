"""The TensorFlow 1 basic GAN trained step for step by TensorFlow itself, in a TF1 graph and session as the script
runs it, and by the `tf-basic-gan` preset, from the same weights, on the same batches and the same noise.
TensorFlow is no dependency of the workflow: run this where both tensorflow (2.x: its tf.compat.v1 runs the TF1
graph) and the workflow's requirements are installed:

    python benchmarks/tf_basic_gan_tf1.py [--train results/data/mnist/train.pt] [--steps 20] [--seed 0] [--float32]

The TensorFlow side is the script as the preset reads it (wiseodd/generative-models GAN/vanilla_gan/
gan_tensorflow.py with its variables made by tf.get_variable, Glorot-uniform weights as
tf.contrib.layers.xavier_initializer() makes them, zero biases): placeholders X and Z, D 784-128 ReLU-1 (logits), G
100-128 ReLU-784 sigmoid, the sigmoid cross-entropy losses, AdamOptimizer() for each network with its var_list, and
the loop body: sess.run([D_solver, D_loss]) on a batch and a Z, then sess.run([G_solver, G_loss]) on a fresh Z. Both
sides get the same two noises a step, uniform on [-1, 1] as sample_Z draws them, in the check's dtype. Two copies
of the preset train beside it (keras_check.PresetCopies): one as the workflow trains it
(steps.step_discriminator_first), one whose Adam takes TensorFlow 1's steps (keras_check.match_tf1_adam). Both sides
run in float64 unless --float32 (float32 GAN runs part by rounding alone; cs231n_tf_keras.py says why). It exits
non-zero when the matched copy's losses differ from TensorFlow's by more than 1e-5 in float64 (1e-3 in float32;
relative, or absolute below 1).
"""

import torch
from keras_check import (
    DrawSite,
    PresetCopies,
    check_arguments,
    chosen_dtype,
    copy_dense,
    import_tensorflow,
    linears,
    match_tf1_adam,
    training_images,
)

tf = import_tensorflow()

from genzoo import config, sampling  # noqa: E402  (keras_check puts it on sys.path)

tf1 = tf.compat.v1
NOISE = 100


class Script:
    """The script's graph and session; its variables by name."""

    def __init__(self, seed: int, dtype):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf1.set_random_seed(seed)
            self.X = tf1.placeholder(dtype, shape=[None, 784])
            self.Z = tf1.placeholder(dtype, shape=[None, NOISE])
            xavier, zero = tf1.glorot_uniform_initializer(), tf1.constant_initializer(0)
            shapes = {"D_W1": [784, 128], "D_b1": [128], "D_W2": [128, 1], "D_b2": [1]}
            shapes |= {"G_W1": [NOISE, 128], "G_b1": [128], "G_W2": [128, 784], "G_b2": [784]}
            self.vars = {
                name: tf1.get_variable(name, shape, dtype, initializer=xavier if "_W" in name else zero)
                for name, shape in shapes.items()
            }
            v = self.vars
            theta_D = [v["D_W1"], v["D_W2"], v["D_b1"], v["D_b2"]]
            theta_G = [v["G_W1"], v["G_W2"], v["G_b1"], v["G_b2"]]

            def generator(z):
                G_h1 = tf.nn.relu(tf.matmul(z, v["G_W1"]) + v["G_b1"])
                return tf.nn.sigmoid(tf.matmul(G_h1, v["G_W2"]) + v["G_b2"])

            def discriminator(x):
                D_h1 = tf.nn.relu(tf.matmul(x, v["D_W1"]) + v["D_b1"])
                return tf.matmul(D_h1, v["D_W2"]) + v["D_b2"]

            D_logit_real = discriminator(self.X)
            D_logit_fake = discriminator(generator(self.Z))
            sce = tf.nn.sigmoid_cross_entropy_with_logits
            D_loss_real = tf.reduce_mean(sce(logits=D_logit_real, labels=tf.ones_like(D_logit_real)))
            D_loss_fake = tf.reduce_mean(sce(logits=D_logit_fake, labels=tf.zeros_like(D_logit_fake)))
            self.D_loss = D_loss_real + D_loss_fake
            self.G_loss = tf.reduce_mean(sce(logits=D_logit_fake, labels=tf.ones_like(D_logit_fake)))
            self.D_solver = tf1.train.AdamOptimizer().minimize(self.D_loss, var_list=theta_D)
            self.G_solver = tf1.train.AdamOptimizer().minimize(self.G_loss, var_list=theta_G)
            self.sess = tf1.Session(graph=self.graph)
            self.sess.run(tf1.global_variables_initializer())

    def train_step(self, X_mb, d_noise, g_noise) -> dict[str, float]:
        _, D_loss_curr = self.sess.run([self.D_solver, self.D_loss], feed_dict={self.X: X_mb, self.Z: d_noise})
        _, G_loss_curr = self.sess.run([self.G_solver, self.G_loss], feed_dict={self.Z: g_noise})
        return {"g_loss": float(G_loss_curr), "d_loss": float(D_loss_curr)}

    def fill(self, nets: dict[str, torch.nn.Module]) -> None:
        """The session's initial variables into the preset's Linear layers, in order: W1, b1, W2, b2."""
        values = self.sess.run(self.vars)
        for prefix, name in (("G", "generator"), ("D", "discriminator")):
            for layer, linear in enumerate(linears(nets[name]), start=1):
                copy_dense(linear, values[f"{prefix}_W{layer}"], values[f"{prefix}_b{layer}"])


def main() -> None:
    parser = check_arguments(__doc__)
    args = parser.parse_args()
    dtype = chosen_dtype(args)
    torch.manual_seed(args.seed)
    print(f"tensorflow {tf.__version__} (tf.compat.v1 graph and session), torch {torch.__version__}, in {dtype}")

    run = config.standalone_run("tf-basic-gan", "tf1-check", device="cpu")
    batch = run["batch_size"]
    images = training_images(args.train, "sigmoid", batch, args.steps).to(dtype)
    script = Script(args.seed, tf.float32 if args.float32 else tf.float64)
    # step_discriminator_first draws its two noises with sampling.sample_noise.
    copies = PresetCopies(
        run, script.fill, {"noise": DrawSite(sampling, "sample_noise")}, dtype, match_tf1_adam, "TensorFlow 1's"
    )

    print("per step: TensorFlow / the preset as the workflow trains it / with TensorFlow 1's Adam")
    print(f"{'step':>4}  {'generator loss':^29}  {'discriminator loss':^29}")
    for t in range(1, args.steps + 1):
        real = images[(t - 1) * batch : t * batch]
        noises = [torch.rand(batch, NOISE, dtype=dtype) * 2 - 1 for _ in range(2)]  # sample_Z's uniform
        theirs = script.train_step(real.reshape(batch, 784).numpy(), *(noise.numpy() for noise in noises))
        sides = copies.step(theirs, real, {"noise": noises}, t)
        copies.print_step(t, sides, (("g_loss", 9, 6), ("d_loss", 9, 6)))
    copies.conclude(args.steps, "the tf-basic-gan preset does not train as the TF1 script does")


if __name__ == "__main__":
    main()
