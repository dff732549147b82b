"""Train LeNet-5 on MNIST with minigrad's plain API: model, loader, optimizer, loop.

    python examples/train_lenet_mnist.py            # 1 epoch, ~98.5% test accuracy
    python examples/train_lenet_mnist.py --limit 3000 --epochs 1   # a quick look

MNIST is found through $MINIGRAD_DATA, the user cache, or downloaded.
"""

import argparse

import minigrad
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.data import MNIST, DataLoader, Subset
from minigrad.data import transforms as T
from minigrad.models import LeNet5
from minigrad.serialization import save

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
args = parser.parse_args()

minigrad.manual_seed(0)
normalize = T.Normalize(0.1307, 0.3081)  # MNIST's mean and std
train_set, test_set = MNIST(train=True), MNIST(train=False)
if args.limit:
    train_set, test_set = Subset(train_set, range(args.limit)), Subset(test_set, range(args.limit))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=normalize)
test_loader = DataLoader(test_set, batch_size=500, transform=normalize)

model = LeNet5()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))

for epoch in range(args.epochs):
    model.train()
    for step, (images, labels) in enumerate(train_loader):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % 100 == 0:
            print(f"epoch {epoch + 1} step {step}/{len(train_loader)}: loss {loss.item():.4f}")

    model.eval()
    correct = 0
    with minigrad.no_grad():
        for images, labels in test_loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    print(f"epoch {epoch + 1}: test accuracy {100 * correct / len(test_set):.2f}%")

save(model.state_dict(), "lenet5_mnist.safetensors")
