"""LTU: Listen, Think, and Understand, on stock Hugging Face libraries.

    from ltu import load_pretrained, ChatSession
    model, processor = load_pretrained("checkpoints/ltu-small")
    chat = ChatSession(model, processor, "assets/dog.mp3")
    print(chat.answer("What is this sound?"))
"""

from ltu.chat import ChatSession
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.config import EncoderConfig, FrontEndConfig, LoRAConfig, LTUConfig, PromptConfig, paper_config
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import LTUProcessor
from ltu.prompt import Turn
from ltu.runtime import Runtime

__all__ = [
    "ChatSession", "EncoderConfig", "FrontEndConfig", "GenerationSettings", "LTUConfig", "LTUError", "LTUModel",
    "LTUProcessor", "LoRAConfig", "PromptConfig", "Runtime", "Turn", "build_model", "load_pretrained",
    "paper_config", "save_pretrained",
]
